import type { ReactNode } from "react";

/** One read-only fact: its label and what it is now. */
export type Fact = readonly [label: string, value: ReactNode];

/** The tabs' and the header's read-only summary: labels with their values. */
export function Facts({ items }: { items: readonly Fact[] }) {
  return (
    <dl className="facts">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A notes field as read: its heading, the text as typed, or a muted word for none. */
export function Notes({ title, text, empty }: { title: string; text: string; empty: string }) {
  return (
    <>
      <h3>{title}</h3>
      <p className="prewrap">{text || <span className="muted">{empty}</span>}</p>
    </>
  );
}
