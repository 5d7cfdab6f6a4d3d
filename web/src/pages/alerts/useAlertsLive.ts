import { useSubscription } from "@apollo/client/react";
import { useState } from "react";
import { AlertChangedSubscription } from "./documents";
import { alertStatusLabel } from "./labels";

/**
 * Someone else's change to an alert: the cache updates a row it already holds (alerts are
 * normalised by id); `onUnknown` runs for an alert the page does not show yet (a new one,
 * or one that now matches the filters). Returns a sentence for a status region.
 */
export function useAlertsLive(onChange: (alertId: string) => void): string {
  const [note, setNote] = useState("");
  useSubscription(AlertChangedSubscription, {
    onData: ({ data }) => {
      const alert = data.data?.alertChanged;
      if (!alert) return;
      const time = new Date().toLocaleTimeString();
      setNote(
        `${time}: alert “${alert.policyName}” changed (${alertStatusLabel(alert.status)}, ` +
          `${alert.eventCount} event${alert.eventCount === 1 ? "" : "s"}).`,
      );
      onChange(alert.id);
    },
  });
  return note;
}
