import { AuditTrailQuery, PersonQuery } from "./documents";

/** After any change to a person: their details and their audit trail, read again. */
export const REFRESH_PERSON = [PersonQuery, AuditTrailQuery];
