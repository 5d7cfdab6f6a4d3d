import { useEffect, useEffectEvent, useId, useRef, type ReactNode, type RefObject } from "react";

export interface DialogProps {
  /** Shown while true; a dialog rendered only when needed can leave this out. */
  open?: boolean;
  /** The heading, which also names the dialog. */
  title: ReactNode;
  /** Escape (or the Close button) asks the owner to close it; the owner decides. */
  onClose: () => void;
  /** While busy, Escape does nothing. */
  busy?: boolean;
  /** A Close button beside the heading. */
  closeButton?: boolean;
  className?: string | undefined;
  /** Read when the dialog closes: where focus goes instead of the opener. */
  returnFocusTo?: RefObject<HTMLElement | null> | undefined;
  children: ReactNode;
}

/**
 * A modal native <dialog> (showModal(): focus moves in and stays there), labelled by its
 * heading. Escape calls `onClose`; only the owner closes it, by passing open=false or no
 * longer rendering it. Focus then goes to `returnFocusTo`, else back to the opener, else
 * (the opener gone) to the page's content. An element marked `data-autofocus` gets focus
 * on opening (e.g. Cancel before a change that cannot be undone).
 */
export function Dialog({
  open = true,
  title,
  onClose,
  busy = false,
  closeButton = false,
  className,
  returnFocusTo,
  children,
}: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const headingId = useId();

  const restoreFocus = useEffectEvent((opener: HTMLElement | null) => {
    const target = returnFocusTo?.current ?? (opener?.isConnected ? opener : null);
    (target ?? document.getElementById("content"))?.focus();
  });

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog || !open) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    dialog.querySelector<HTMLElement>("[data-autofocus]")?.focus();
    return () => {
      if (dialog.open) dialog.close();
      restoreFocus(opener);
    };
  }, [open]);

  const heading = <h2 id={headingId}>{title}</h2>;
  return (
    <dialog
      ref={ref}
      className={className}
      aria-labelledby={headingId}
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) onClose();
      }}
    >
      {open && (
        <>
          {closeButton ? (
            <div className="dialog-head">
              {heading}
              <button type="button" onClick={onClose}>
                Close
              </button>
            </div>
          ) : (
            heading
          )}
          {children}
        </>
      )}
    </dialog>
  );
}
