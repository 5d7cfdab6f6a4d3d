import { formatDateTime } from "../../format";
import { skipToken, useQuery } from "@apollo/client/react";
import { Link } from "react-router";
import type { AlertDetailsQuery } from "../../gql/graphql";
import { EventPeopleQuery } from "./documents";
import { assignmentUserIds, describeEvent } from "./eventDetails";
import { eventTypeLabel, formatPointsDelta } from "./labels";

type AlertNode = Extract<NonNullable<AlertDetailsQuery["node"]>, { __typename: "Alert" }>;
type AlertEvent = AlertNode["events"][number];

/** Names of the people assignment events mention; null where not readable. */
function usePeopleNames(events: readonly AlertEvent[]) {
  const ids = [
    ...new Set(
      events
        .filter((e) => e.type === "ASSIGNMENT_CHANGE")
        .flatMap((e) => assignmentUserIds(e.details)),
    ),
  ];
  const { data, error } = useQuery(
    EventPeopleQuery,
    ids.length === 0 ? skipToken : { variables: { ids } },
  );
  const names = new Map<string, string>();
  for (const node of data?.nodes ?? []) {
    if (node?.__typename === "User") names.set(node.id, node.name);
  }
  return { nameOf: (id: string) => names.get(id) ?? null, error };
}

/** An alert's events, oldest first: what happened, to which action, by whom, when. */
export function EventsLog({ events }: { events: readonly AlertEvent[] }) {
  const { nameOf, error } = usePeopleNames(events);
  return (
    <>
      {error && <p role="alert">Names of assigned people could not be loaded: {error.message}</p>}
      <div className="table-scroll">
        <table className="data">
          <caption className="visually-hidden">Events of this alert, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">What happened</th>
              <th scope="col">Improvement action</th>
              <th scope="col">Assessments</th>
              <th scope="col">By</th>
              <th scope="col" className="num">
                Points change
              </th>
            </tr>
          </thead>
          <tbody>
            {events.map((event, index) => (
              <tr key={index}>
                <td>
                  <time dateTime={event.occurredAt}>{formatDateTime(event.occurredAt)}</time>
                </td>
                <th scope="row">{eventTypeLabel(event.type)}</th>
                <td>
                  <ul className="plain event-details">
                    {describeEvent(event, nameOf).map((line, n) => (
                      <li key={n}>{line}</li>
                    ))}
                  </ul>
                </td>
                <td>
                  {event.action ? (
                    <Link to={`/actions/${encodeURIComponent(event.action.id)}`}>
                      {event.action.title}
                    </Link>
                  ) : (
                    <span className="muted">None</span>
                  )}
                </td>
                <td>
                  {event.assessments.length === 0 ? (
                    <span className="muted">None you can see</span>
                  ) : (
                    <ul className="plain">
                      {event.assessments.map((assessment) => (
                        <li key={assessment.id}>
                          <Link to={`/assessments/${encodeURIComponent(assessment.id)}`}>
                            {assessment.name}
                          </Link>
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>{event.user?.name ?? <span className="muted">System</span>}</td>
                <td className="num">
                  {event.pointsDelta == null ? (
                    <span className="muted">–</span>
                  ) : (
                    formatPointsDelta(event.pointsDelta)
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
