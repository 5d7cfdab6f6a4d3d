import { Link } from "react-router";
import { formatDateTime, roleLabel } from "../../format";
import type { PeopleListQuery as PeopleListData } from "../../gql/graphql";
import { lastSeen, personStatus, STATUS_LABELS } from "./personStatus";

type Person = PeopleListData["users"]["nodes"][number];

interface PeopleTableProps {
  people: readonly Person[];
  /** The link to one person's details, keeping the list's search. */
  personHref: (id: string) => string;
}

export function PeopleTable({ people, personHref }: PeopleTableProps) {
  return (
    <div className="table-scroll">
      <table className="data">
        <caption className="visually-hidden">People with access</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        <tbody>
          {people.map((person) => {
            const status = personStatus(person);
            const seen = lastSeen(person);
            return (
              <tr key={person.id}>
                <th scope="row">
                  <Link to={personHref(person.id)}>{person.name}</Link>
                  {person.isAutomation && <span className="tag">Automation</span>}
                </th>
                <td>{person.email}</td>
                <td>{roleLabel(person.role)}</td>
                <td>
                  <span className={`status status-${status.toLowerCase()}`}>
                    {STATUS_LABELS[status]}
                  </span>
                </td>
                <td>{seen ? formatDateTime(seen) : <span className="muted">Never</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
