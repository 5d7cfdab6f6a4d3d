import { useEffect, useRef, type ReactNode } from "react";

/** Which filter pop-up is open; the pane keeps one at a time. */
export interface FilterPopupState {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}

/**
 * A filter's disclosure whose panel floats over the page. It closes on Escape (focus back to
 * its toggle), on a click or focus outside it, and when the pane opens another one.
 */
export function FilterPopup({
  summary,
  open,
  onOpenChange,
  children,
}: FilterPopupState & { summary: ReactNode; children: ReactNode }) {
  const details = useRef<HTMLDetailsElement>(null);
  const toggle = useRef<HTMLElement>(null);

  useEffect(() => {
    if (!open) return;
    function outside(event: Event) {
      if (event.target instanceof Node && !details.current?.contains(event.target)) {
        onOpenChange(false);
      }
    }
    document.addEventListener("pointerdown", outside);
    document.addEventListener("focusin", outside);
    return () => {
      document.removeEventListener("pointerdown", outside);
      document.removeEventListener("focusin", outside);
    };
  }, [open, onOpenChange]);

  return (
    <details
      ref={details}
      className="al-filter"
      open={open}
      onToggle={(event) => {
        if (event.currentTarget.open !== open) onOpenChange(event.currentTarget.open);
      }}
      onKeyDown={(event) => {
        if (event.key === "Escape" && open && !event.defaultPrevented) {
          event.preventDefault();
          onOpenChange(false);
          toggle.current?.focus();
        }
      }}
    >
      <summary ref={toggle}>{summary}</summary>
      {children}
    </details>
  );
}
