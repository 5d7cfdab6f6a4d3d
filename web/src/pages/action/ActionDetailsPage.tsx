export function ActionDetailsPage() {
  return <h1>ActionDetailsPage</h1>;
}
