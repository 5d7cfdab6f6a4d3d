export function AssessmentsPage() {
  return <h1>AssessmentsPage</h1>;
}
