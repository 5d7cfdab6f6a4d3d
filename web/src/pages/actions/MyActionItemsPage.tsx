import { ActionList } from "./ActionList";

/** The actions list with the assignee fixed to the signed-in person. */
export function MyActionItemsPage() {
  return <ActionList title="My action items" mine />;
}
