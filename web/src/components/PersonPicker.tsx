import { skipToken, useQuery } from "@apollo/client/react";
import { useEffect, useId, useRef, useState, type CSSProperties, type KeyboardEvent } from "react";
import { graphql } from "../gql";

export interface PickedPerson {
  id: string;
  name: string;
  email: string;
}

const PeoplePickerQuery = graphql(`
  query PeoplePicker($search: String, $first: Int!) {
    people(search: $search, first: $first) {
      totalCount
      nodes {
        id
        name
        email
      }
    }
  }
`);

// Styles live here so the shared component needs no stylesheet of its own.
const styles = {
  picker: { position: "relative" },
  chosen: {
    display: "flex",
    gap: "0.5rem",
    alignItems: "center",
    margin: "0.25rem 0 0",
  },
  list: {
    position: "absolute",
    zIndex: 20,
    left: 0,
    right: 0,
    margin: 0,
    padding: "0.25rem 0",
    listStyle: "none",
    background: "#fff",
    border: "1px solid var(--line)",
    borderRadius: "4px",
    boxShadow: "0 4px 12px rgb(0 0 0 / 12%)",
    maxHeight: "16rem",
    overflowY: "auto",
  },
  option: { padding: "0.3rem 0.6rem", cursor: "pointer" },
  activeOption: {
    padding: "0.3rem 0.6rem",
    cursor: "pointer",
    background: "#eef3f9",
  },
  status: { margin: "0.2rem 0 0", fontSize: "0.9em", minHeight: "1.2em" },
} satisfies Record<string, CSSProperties>;

const MATCHES = 10;
const TYPING_PAUSE_MS = 250;

function useSettled(text: string): string {
  const [settled, setSettled] = useState(text);
  useEffect(() => {
    const timer = window.setTimeout(() => {
      setSettled(text);
    }, TYPING_PAUSE_MS);
    return () => {
      window.clearTimeout(timer);
    };
  }, [text]);
  return settled;
}

/**
 * Find one person work can be assigned to by typing part of a name or email (`people`, for
 * contributors and up), then pick them from the list: an ARIA combobox with a listbox popup.
 */
export function PersonPicker({
  label,
  value,
  onChange,
  hint,
  disabled = false,
  autoFocus = false,
}: {
  label: string;
  value: PickedPerson | null;
  onChange: (person: PickedPerson | null) => void;
  hint?: string;
  disabled?: boolean;
  /** Marks the input for a surrounding Dialog to focus on opening. */
  autoFocus?: boolean;
}) {
  const id = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const [text, setText] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const search = useSettled(text.trim());
  const { data, error, loading } = useQuery(
    PeoplePickerQuery,
    !open || search === ""
      ? skipToken
      : { variables: { search, first: MATCHES }, fetchPolicy: "cache-first" },
  );
  const people = search === "" ? [] : (data?.people.nodes ?? []);
  const more = search === "" ? 0 : (data?.people.totalCount ?? 0) - people.length;
  const listId = `${id}-list`;
  const hintId = `${id}-hint`;
  const showList = open && search !== "";

  function choose(person: PickedPerson) {
    onChange({ id: person.id, name: person.name, email: person.email });
    setText("");
    setOpen(false);
    setActive(-1);
  }

  function handleKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setOpen(true);
      setActive((index) => Math.min(index + 1, people.length - 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setActive((index) => Math.max(index - 1, 0));
    } else if (event.key === "Enter" && showList) {
      const person = people[active] ?? (people.length === 1 ? people[0] : undefined);
      if (person) {
        event.preventDefault();
        choose(person);
      }
    } else if (event.key === "Escape" && open) {
      // Close the list, not a dialog around the picker.
      event.preventDefault();
      event.stopPropagation();
      setOpen(false);
      setActive(-1);
    }
  }

  let statusText = "";
  if (showList) {
    if (error) statusText = `People could not be searched: ${error.message}`;
    else if (loading || search !== text.trim()) statusText = "Searching…";
    else if (people.length === 0) statusText = `Nobody matches “${search}”.`;
    else if (more > 0)
      statusText = `${people.length} shown of ${people.length + more}: type more to narrow.`;
    else statusText = `${people.length} ${people.length === 1 ? "person" : "people"} found.`;
  }

  return (
    <div style={styles.picker}>
      <label htmlFor={`${id}-input`}>{label}</label>
      {value && (
        <p style={styles.chosen}>
          <span>
            {value.name} <span className="muted">({value.email})</span>
          </span>
          <button
            type="button"
            disabled={disabled}
            aria-label={`Clear ${label.toLowerCase()}: ${value.name}`}
            onClick={() => {
              onChange(null);
              inputRef.current?.focus();
            }}
          >
            Clear
          </button>
        </p>
      )}
      <input
        ref={inputRef}
        id={`${id}-input`}
        type="text"
        role="combobox"
        autoComplete="off"
        placeholder={value ? "Search for someone else" : "Type part of a name or email"}
        aria-autocomplete="list"
        aria-expanded={showList}
        aria-controls={listId}
        aria-activedescendant={showList && active >= 0 ? `${id}-option-${active}` : undefined}
        aria-describedby={hint ? hintId : undefined}
        data-autofocus={autoFocus || undefined}
        disabled={disabled}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onKeyDown={handleKeyDown}
        onBlur={() => {
          setOpen(false);
        }}
      />
      {hint && (
        <p id={hintId} className="hint" style={{ margin: "0.25rem 0 0" }}>
          {hint}
        </p>
      )}
      <ul
        id={listId}
        role="listbox"
        aria-label={label}
        style={styles.list}
        hidden={!showList || people.length === 0}
      >
        {people.map((person, index) => (
          <li
            key={person.id}
            id={`${id}-option-${index}`}
            role="option"
            aria-selected={index === active}
            style={index === active ? styles.activeOption : styles.option}
            // Keep focus in the input: choosing happens on mouse down, before blur closes the list.
            onMouseDown={(event) => {
              event.preventDefault();
              choose(person);
            }}
          >
            {person.name} <span className="muted">{person.email}</span>
          </li>
        ))}
      </ul>
      <p className={error ? "form-error" : "muted"} style={styles.status} role="status">
        {statusText}
      </p>
    </div>
  );
}
