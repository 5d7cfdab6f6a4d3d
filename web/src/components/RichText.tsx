import { Fragment, type ReactNode } from "react";

// **strong** or *emphasis*, within one line; "* " (a list mark) is not emphasis.
const EMPHASIS = /\*\*([^*\s](?:[^*]*[^*\s])?)\*\*|\*([^*\s](?:[^*]*[^*\s])?)\*/g;

function inline(line: string): ReactNode[] {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const match of line.matchAll(EMPHASIS)) {
    if (match.index > last) parts.push(line.slice(last, match.index));
    const [, strong, em] = match;
    parts.push(
      strong !== undefined ? (
        <strong key={match.index}>{strong}</strong>
      ) : (
        <em key={match.index}>{em}</em>
      ),
    );
    last = match.index + match[0].length;
  }
  if (last < line.length) parts.push(line.slice(last));
  return parts;
}

/** Lines of a paragraph; an indented line continues the one before (a wrapped list item). */
function linesOf(paragraph: string): string[] {
  const lines: string[] = [];
  for (const line of paragraph.split("\n")) {
    const previous = /^\s/.test(line) ? lines.pop() : undefined;
    lines.push(previous === undefined ? line.trim() : `${previous} ${line.trim()}`);
  }
  return lines;
}

/**
 * Guidance and description text as written in templates: blank lines part paragraphs, line
 * breaks stay, and *emphasis* and **strong** marks become elements (no HTML is read).
 */
export function RichText({ text, className }: { text: string; className?: string }) {
  const paragraphs = text.split(/\n[ \t]*\n/).filter((paragraph) => paragraph.trim() !== "");
  return (
    <div className={className ? `rich-text ${className}` : "rich-text"}>
      {paragraphs.map((paragraph, index) => (
        <p key={index}>
          {linesOf(paragraph).map((line, row) => (
            <Fragment key={row}>
              {row > 0 && <br />}
              {inline(line)}
            </Fragment>
          ))}
        </p>
      ))}
    </div>
  );
}
