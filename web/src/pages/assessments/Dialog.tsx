import { useEffect, useId, useRef, type ReactNode } from "react";

/**
 * A modal native <dialog>, open while mounted. Escape asks the owner to close it (unless
 * busy); focus goes back to whatever had it before.
 */
export function Dialog({
  title,
  busy = false,
  onClose,
  children,
}: {
  title: string;
  busy?: boolean;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    // showModal() focuses the first control; a dialog may name a safer one (e.g. Cancel).
    dialog.querySelector<HTMLElement>("[data-autofocus]")?.focus();
    return () => {
      dialog.close();
      // The opener may be gone (e.g. Archive once archived): fall back to the page's content.
      if (opener?.isConnected) opener.focus();
      else document.getElementById("content")?.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      className="assessments-dialog"
      aria-labelledby={titleId}
      onCancel={(event) => {
        // The owner decides: the dialog stays mounted until it is told to close.
        event.preventDefault();
        if (!busy) onClose();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      {children}
    </dialog>
  );
}
