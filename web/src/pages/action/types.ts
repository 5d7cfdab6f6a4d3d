import type { ActionDetailsFieldsFragment, EvidenceFieldsFragment } from "../../gql/graphql";

export type ActionDetails = ActionDetailsFieldsFragment;
export type EvidenceItem = EvidenceFieldsFragment;

/** A refused change as every payload reports it. */
export interface UserErrorItem {
  field?: readonly string[] | null;
  code: string;
  message: string;
}
