import { ActionList } from "./ActionList";

export function ActionsPage() {
  return <ActionList title="Improvement actions" />;
}
