import type { ActionAccess } from "./permissions";
import type { ActionDetailsFieldsFragment, EvidenceFieldsFragment } from "../../gql/graphql";

export type ActionDetails = ActionDetailsFieldsFragment;
export type EvidenceItem = EvidenceFieldsFragment;

/** What every tab of the action's page is given. */
export interface ActionTabProps {
  action: ActionDetails;
  access: ActionAccess;
  reload: () => Promise<unknown>;
}

/** An edit form of a tab; `onDone` closes it with a message ("" for none). */
export interface ActionFormProps extends ActionTabProps {
  onDone: (message: string) => void;
}
