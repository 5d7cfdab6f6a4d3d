import { useQuery } from "@apollo/client/react";
import { Link } from "react-router";
import type { TestStatus } from "../../gql/graphql";
import { TEST_STATUSES } from "../../format";
import { assessmentActionsPath } from "../actions/listParams";
import { AssessmentActionCountsQuery } from "./documents";

// Out-of-scope actions count neither as done nor as to do.
const IN_SCOPE: TestStatus[] = TEST_STATUSES.filter((status) => status !== "OUT_OF_SCOPE");

/** "n of m" passed, per owner; each opens the assessment's actions of that owner. */
export function ActionCounts({
  assessmentId,
  assessmentName,
}: {
  assessmentId: string;
  assessmentName: string;
}) {
  const { data, error } = useQuery(AssessmentActionCountsQuery, {
    variables: { assessmentIds: [assessmentId], inScope: IN_SCOPE },
  });

  if (!data) {
    return (
      <>
        <td className="num">{error ? <span className="form-error">Not available</span> : "…"}</td>
        <td className="num">{error ? <span className="form-error">Not available</span> : "…"}</td>
      </>
    );
  }
  return (
    <>
      <td className="num">
        <Link
          to={assessmentActionsPath(assessmentId, "CUSTOMER")}
          aria-label={`${assessmentName}: ${data.customerPassed.totalCount} of ${data.customerTotal.totalCount} of your actions completed`}
        >
          {data.customerPassed.totalCount} of {data.customerTotal.totalCount}
        </Link>
      </td>
      <td className="num">
        <Link
          to={assessmentActionsPath(assessmentId, "PROVIDER")}
          aria-label={`${assessmentName}: ${data.providerPassed.totalCount} of ${data.providerTotal.totalCount} provider actions completed`}
        >
          {data.providerPassed.totalCount} of {data.providerTotal.totalCount}
        </Link>
      </td>
    </>
  );
}
