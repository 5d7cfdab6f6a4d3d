import { Link } from "react-router";
import { assessmentActionsPath } from "../actions/listParams";

interface Counts {
  completed: number;
  total: number;
}

/**
 * "n of m" passed, per owner (out-of-scope actions count neither as done nor as to do); each
 * opens the assessment's actions of that owner.
 */
export function ActionCounts({
  assessmentId,
  assessmentName,
  customer,
  provider,
}: {
  assessmentId: string;
  assessmentName: string;
  customer: Counts;
  provider: Counts;
}) {
  return (
    <>
      <td className="num">
        <Link
          to={assessmentActionsPath(assessmentId, "CUSTOMER")}
          aria-label={`${assessmentName}: ${customer.completed} of ${customer.total} of your actions completed`}
        >
          {customer.completed} of {customer.total}
        </Link>
      </td>
      <td className="num">
        <Link
          to={assessmentActionsPath(assessmentId, "PROVIDER")}
          aria-label={`${assessmentName}: ${provider.completed} of ${provider.total} provider actions completed`}
        >
          {provider.completed} of {provider.total}
        </Link>
      </td>
    </>
  );
}
