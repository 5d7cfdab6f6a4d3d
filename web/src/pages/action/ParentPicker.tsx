import { skipToken, useQuery } from "@apollo/client/react";
import { useDeferredValue, useId, useState } from "react";
import { implementationLabel, testLabel } from "../../format";
import { ParentCandidatesQuery } from "./documents";

export interface ParentChoice {
  id: string;
  key: string;
  title: string;
}

/** Search actions by title, key or guidance and pick one as the parent. */
export function ParentPicker({
  actionId,
  chosen,
  onChoose,
}: {
  actionId: string;
  chosen: ParentChoice | null;
  onChoose: (parent: ParentChoice) => void;
}) {
  const id = useId();
  const [search, setSearch] = useState("");
  const deferred = useDeferredValue(search.trim());
  const { data, error, loading } = useQuery(
    ParentCandidatesQuery,
    deferred.length < 2 ? skipToken : { variables: { search: deferred } },
  );
  const candidates = (data?.improvementActions.nodes ?? []).filter((item) => item.id !== actionId);

  return (
    <fieldset className="parent-picker">
      <legend>Parent action</legend>
      <p id={`${id}-chosen`}>
        {chosen ? (
          <>
            Chosen: <strong>{chosen.key}</strong> {chosen.title}
          </>
        ) : (
          "No parent chosen yet."
        )}
      </p>
      <label>
        Search actions by name or key
        <input
          type="search"
          value={search}
          aria-describedby={`${id}-chosen`}
          onChange={(event) => {
            setSearch(event.target.value);
          }}
        />
      </label>
      <div role="status" className="hint">
        {deferred.length < 2
          ? "Type at least two characters."
          : loading
            ? "Searching…"
            : data
              ? `${candidates.length} of ${data.improvementActions.totalCount} matching actions shown.`
              : ""}
      </div>
      {error && (
        <p role="alert" className="form-error">
          The search failed: {error.message}
        </p>
      )}
      {candidates.length > 0 && (
        <ul className="candidates">
          {candidates.map((item) => (
            <li key={item.id}>
              <button
                type="button"
                aria-pressed={chosen?.id === item.id}
                onClick={() => {
                  onChoose({ id: item.id, key: item.key, title: item.title });
                }}
              >
                <strong>{item.key}</strong> {item.title}
              </button>{" "}
              <span className="muted">
                {item.group ? `Group ${item.group.name}` : "Organisation-wide"};{" "}
                {implementationLabel(item.implementationStatus)}, {testLabel(item.testStatus)}
              </span>
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
