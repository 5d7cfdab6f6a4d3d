import { useId, useRef, useState, type ReactNode, type RefObject } from "react";
import { FormError } from "../../components/FormError";
import { Dialog } from "./Dialog";

interface ConfirmDialogProps {
  title: string;
  confirmLabel: string;
  /** Runs the change; a message when it was refused (the dialog stays open to show it). */
  onConfirm: () => Promise<string | null>;
  onClose: () => void;
  /** Where focus goes once the change is made (the button that opened it may be gone). */
  focusAfterConfirm?: RefObject<HTMLElement | null>;
  children: ReactNode;
}

/** Asks before a change that cannot be taken back, and shows why it was refused. */
export function ConfirmDialog({
  title,
  confirmLabel,
  onConfirm,
  onClose,
  focusAfterConfirm,
  children,
}: ConfirmDialogProps) {
  const id = useId();
  const returnFocus = useRef<HTMLElement | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function confirm() {
    setBusy(true);
    setError(null);
    const refusal = await onConfirm();
    if (refusal === null) {
      returnFocus.current = focusAfterConfirm?.current ?? null;
      onClose();
      return;
    }
    setError(refusal);
    setBusy(false);
  }

  return (
    <Dialog
      open
      title={title}
      titleId={`${id}-title`}
      onClose={onClose}
      returnFocusTo={returnFocus}
    >
      <div className="stack">
        {children}
        <FormError id={`${id}-error`} message={error} />
        <div className="dialog-buttons">
          <button type="button" className="danger" disabled={busy} onClick={() => void confirm()}>
            {busy ? "Working…" : confirmLabel}
          </button>
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
        </div>
      </div>
    </Dialog>
  );
}
