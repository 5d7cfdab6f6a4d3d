export function AlertDetailsPage() {
  return <h1>AlertDetailsPage</h1>;
}
