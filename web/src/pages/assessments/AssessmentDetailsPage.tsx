export function AssessmentDetailsPage() {
  return <h1>AssessmentDetailsPage</h1>;
}
