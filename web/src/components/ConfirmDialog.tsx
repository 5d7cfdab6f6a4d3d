import { useId, useRef, useState, type ReactNode, type RefObject } from "react";
import { Dialog } from "./Dialog";
import { FormError } from "./FormError";

export interface ConfirmDialogProps {
  /** Shown while true; a dialog rendered only when needed can leave this out. */
  open?: boolean;
  title: string;
  confirmLabel: string;
  /** The confirm button's text while the change runs. */
  busyLabel?: string;
  cancelLabel?: string;
  /** The owner's change is running (when `onConfirm` does not return a promise). */
  busy?: boolean;
  /**
   * Makes the change. Either the owner tracks it (returns nothing, passes `busy`, closes
   * the dialog and shows problems itself), or it returns a promise of a refusal message:
   * null closes the dialog, a message keeps it open and shows it.
   */
  onConfirm: (() => void) | (() => Promise<string | null>);
  onClose: () => void;
  /** Where focus goes once the change is made (the button that opened it may be gone). */
  focusAfterConfirm?: RefObject<HTMLElement | null>;
  className?: string | undefined;
  children: ReactNode;
}

/** Asks before a change that cannot be taken back; Cancel has focus at first. */
export function ConfirmDialog({
  open = true,
  title,
  confirmLabel,
  busyLabel = "Working…",
  cancelLabel = "Cancel",
  busy = false,
  onConfirm,
  onClose,
  focusAfterConfirm,
  className,
  children,
}: ConfirmDialogProps) {
  const id = useId();
  const returnFocus = useRef<HTMLElement | null>(null);
  const [pending, setPending] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);
  const working = busy || pending;

  async function confirm() {
    setRefusal(null);
    const result = onConfirm();
    if (!(result instanceof Promise)) return;
    setPending(true);
    const message = await result;
    setPending(false);
    if (message === null) {
      returnFocus.current = focusAfterConfirm?.current ?? null;
      onClose();
    } else {
      setRefusal(message);
    }
  }

  return (
    <Dialog
      open={open}
      title={title}
      busy={working}
      onClose={onClose}
      className={className}
      returnFocusTo={returnFocus}
    >
      <div className="stack">
        {children}
        <FormError id={`${id}-error`} message={refusal} />
        <div className="dialog-buttons">
          <button
            type="button"
            className="danger"
            disabled={working}
            onClick={() => void confirm()}
          >
            {working ? busyLabel : confirmLabel}
          </button>
          <button type="button" data-autofocus disabled={working} onClick={onClose}>
            {cancelLabel}
          </button>
        </div>
      </div>
    </Dialog>
  );
}
