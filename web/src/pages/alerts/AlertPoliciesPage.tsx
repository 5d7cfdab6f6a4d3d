export function AlertPoliciesPage() {
  return <h1>AlertPoliciesPage</h1>;
}
