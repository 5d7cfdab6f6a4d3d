import { useMutation } from "@apollo/client/react";
import { useId, useState, type SubmitEvent } from "react";
import { AddEvidenceLinkMutation } from "./documents";
import { ReviewByField } from "./ReviewByField";
import { MutationProblems } from "../../components/MutationProblems";
import { requestErrorMessage } from "../../mutationErrors";
import type { UserErrorItem } from "../../mutationErrors";

/** "Add evidence" as a link: a name and an http(s) address; `permanent` as for uploads. */
export function EvidenceLinkForm({
  actionId,
  permanent = null,
}: {
  actionId: string;
  permanent?: string | null;
}) {
  const id = useId();
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [reviewBy, setReviewBy] = useState("");
  const [mutate, { loading }] = useMutation(AddEvidenceLinkMutation);
  const [userErrors, setUserErrors] = useState<readonly UserErrorItem[]>([]);
  const [networkError, setNetworkError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setUserErrors([]);
    setNetworkError(null);
    setDone(null);
    try {
      const { data } = await mutate({
        variables: {
          input: { actionId, name: name.trim(), url: url.trim(), reviewBy: reviewBy || null },
        },
      });
      const payload = data?.addEvidenceLink;
      setUserErrors(payload?.userErrors ?? []);
      if (payload?.evidence) {
        setDone(`Added the link “${payload.evidence.name}”.`);
        setName("");
        setUrl("");
        setReviewBy("");
      }
    } catch (error) {
      setNetworkError(requestErrorMessage(error));
    }
  }

  return (
    <form className="stack evidence-form" onSubmit={(event) => void submit(event)}>
      <h3>Add a link</h3>
      <label>
        Name
        <input
          required
          value={name}
          onChange={(event) => {
            setName(event.target.value);
          }}
        />
      </label>
      <label>
        Address (http or https)
        <input
          type="url"
          required
          placeholder="https://"
          aria-describedby={permanent ? `${id}-permanent` : undefined}
          value={url}
          onChange={(event) => {
            setUrl(event.target.value);
          }}
        />
      </label>
      <ReviewByField value={reviewBy} onChange={setReviewBy} />
      {permanent && (
        <p id={`${id}-permanent`} className="hint evidence-permanent">
          {permanent}
        </p>
      )}
      <MutationProblems problems={userErrors} error={networkError} success={done} />
      <div>
        <button type="submit" className="primary" disabled={loading}>
          {loading ? "Adding…" : "Add link"}
        </button>
      </div>
    </form>
  );
}
