import { useEffect, useEffectEvent, useRef, type ReactNode, type RefObject } from "react";

interface DialogProps {
  open: boolean;
  title: string;
  titleId: string;
  onClose: () => void;
  /** Read when the dialog closes: where focus goes instead of the opener. */
  returnFocusTo?: RefObject<HTMLElement | null>;
  children: ReactNode;
}

/**
 * A native modal dialog: showModal() keeps focus inside and Escape asks to close it; focus
 * goes back to whatever had it before the dialog opened, or to `returnFocusTo`. Only the parent closes it, by no
 * longer rendering it (or passing open=false).
 */
export function Dialog({ open, title, titleId, onClose, returnFocusTo, children }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);

  // The opener may be gone (a revoked row's button): then the fallback, if any.
  const restoreFocus = useEffectEvent((opener: HTMLElement | null) => {
    const target = returnFocusTo?.current ?? (opener?.isConnected ? opener : null);
    target?.focus();
  });

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog || !open) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      restoreFocus(opener);
    };
  }, [open]);

  return (
    <dialog
      ref={ref}
      className="people-dialog"
      aria-labelledby={titleId}
      onCancel={(event) => {
        // Escape: the parent decides (it unmounts the dialog, which closes it).
        event.preventDefault();
        onClose();
      }}
    >
      {open && (
        <>
          <h2 id={titleId}>{title}</h2>
          {children}
        </>
      )}
    </dialog>
  );
}
