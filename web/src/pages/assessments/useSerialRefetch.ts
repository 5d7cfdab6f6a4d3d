import { useCallback, useRef } from "react";

/**
 * Refetch after a live message without losing a later one: a request already in flight may
 * have been answered before the newest change committed (and identical queries in flight
 * are shared), so a message that arrives meanwhile asks again once it is done.
 */
export function useSerialRefetch(
  refetch: () => Promise<unknown>,
  onError: (error: unknown) => void,
): () => void {
  const state = useRef({ running: false, again: false });
  return useCallback(() => {
    const current = state.current;
    if (current.running) {
      current.again = true;
      return;
    }
    current.running = true;
    void (async () => {
      for (;;) {
        current.again = false;
        try {
          await refetch();
        } catch (error) {
          onError(error);
        }
        // Set by a message that arrived during the request.
        if (!state.current.again) break;
      }
      current.running = false;
    })();
  }, [refetch, onError]);
}
