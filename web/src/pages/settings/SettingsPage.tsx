import { useQuery } from "@apollo/client/react";
import { roleLabel } from "../../format";
import { ViewerQuery } from "../../graphql/viewer";
import { isOwner } from "../../permissions";
import { AutomaticTestingForm } from "./AutomaticTestingForm";
import { DueDatesForm } from "./DueDatesForm";
import { testingLabel, TESTING_OPTIONS } from "./automaticTesting";
import { SettingsQuery } from "./documents";
import { SignInOptions } from "./SignInOptions";
import "./settings.css";

export function SettingsPage() {
  const settings = useQuery(SettingsQuery);
  const viewerQuery = useQuery(ViewerQuery);
  const organisation = settings.data?.organisation;
  const viewer = viewerQuery.data?.viewer;
  const error = settings.error ?? viewerQuery.error;

  if (!organisation || !viewer) {
    return (
      <>
        <h1>Settings</h1>
        {error ? (
          <p role="alert">The settings could not be loaded: {error.message}</p>
        ) : (
          <p aria-busy="true">Loading the settings…</p>
        )}
      </>
    );
  }

  const owner = isOwner(viewer);
  return (
    <div className="settings-page">
      <h1>Settings</h1>
      {error && <p role="alert">Showing earlier settings: {error.message}</p>}
      <p className="muted">Organisation: {organisation.name}</p>

      <section aria-labelledby="automatic-testing-heading" className="card">
        <h2 id="automatic-testing-heading">Automatic testing</h2>
        <p>
          Some improvement actions can be tested by automation, which reports their implementation
          and test status. This setting decides whether they are.
        </p>
        {owner ? (
          <AutomaticTestingForm current={organisation.automaticTesting} />
        ) : (
          <>
            <p className="read-only-reason">
              Only owners can change organisation settings. Your role:{" "}
              {viewer.role ? roleLabel(viewer.role) : "scoped access only"}.
            </p>
            <p>
              Current setting: <strong>{testingLabel(organisation.automaticTesting)}</strong>
            </p>
            <dl className="settings-options">
              {TESTING_OPTIONS.map((option) => (
                <div key={option.value}>
                  <dt>
                    {option.label}
                    {option.value === organisation.automaticTesting && (
                      <span className="muted"> (current)</span>
                    )}
                  </dt>
                  <dd>{option.explanation}</dd>
                </div>
              ))}
            </dl>
          </>
        )}
      </section>

      <section aria-labelledby="due-dates-heading" className="card">
        <h2 id="due-dates-heading">Due dates and retesting</h2>
        <p>
          How close to its due date an open action counts as due soon, and whether a passed action
          whose retest is due keeps its points until it is retested.
        </p>
        {owner ? (
          <DueDatesForm
            dueSoonDays={organisation.dueSoonDays}
            retestLosesPoints={organisation.retestLosesPoints}
          />
        ) : (
          <>
            <p className="read-only-reason">Only owners can change organisation settings.</p>
            <dl className="settings-options">
              <div>
                <dt>Due soon</dt>
                <dd>
                  {organisation.dueSoonDays === 1
                    ? "1 day before the due date"
                    : `${organisation.dueSoonDays} days before the due date`}
                </dd>
              </div>
              <div>
                <dt>Retested actions lose points when due</dt>
                <dd>
                  {organisation.retestLosesPoints
                    ? "Yes: a passed action due for retest earns nothing until it is retested."
                    : "No: a passed action keeps its points while its retest is due."}
                </dd>
              </div>
            </dl>
          </>
        )}
      </section>

      <SignInOptions />
    </div>
  );
}
