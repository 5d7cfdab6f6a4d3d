export function MyActionItemsPage() {
  return <h1>MyActionItemsPage</h1>;
}
