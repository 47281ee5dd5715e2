import { Link } from 'react-router';
import { CopyButton } from '../../../components/CopyButton';

/** The plaintext of a new key, shown this once, with a copy button, a warning and the way to use it. */
export function SecretOnce({ issued, onClose }: { issued: { key: string; name: string }; onClose: () => void }) {
  return (
    <section className="panel" aria-labelledby="secret-title">
      <h2 id="secret-title">Your new key “{issued.name}”</h2>
      <p className="notice" role="alert">
        Copy it now: this is the only time the gateway shows it. It keeps only a hash; a lost key can be rotated, not recovered.
      </p>
      <p className="secret" aria-label="New gateway key">
        {issued.key}
      </p>
      <div className="actions">
        <CopyButton value={issued.key} label="Copy key" />
        <Link to="/quickstart" state={{ key: issued.key }}>
          Use it: quickstart snippets
        </Link>
        <button type="button" className="secondary" onClick={onClose}>
          I have stored it
        </button>
      </div>
    </section>
  );
}
