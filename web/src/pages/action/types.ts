import type { ActionDetailsFieldsFragment, EvidenceFieldsFragment } from "../../gql/graphql";

export type ActionDetails = ActionDetailsFieldsFragment;
export type EvidenceItem = EvidenceFieldsFragment;
