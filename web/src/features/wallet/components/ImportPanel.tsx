import { useState } from 'react';
import { TextArea } from '../../../components/Field';
import { ErrorMessage } from '../../../components/ErrorMessage';
import { parseImport } from '../api/detect';
import { useImportEntries, useServiceList } from '../api/wallet';

/** Bulk import: paste or upload JSON / dotenv, see what will be sent (masked), then commit and read each entry's result. */
export function ImportPanel({ onDone }: { onDone: () => void }) {
  const services = useServiceList().data?.data ?? [];
  const importer = useImportEntries();
  const [text, setText] = useState('');
  const [preview, setPreview] = useState<ReturnType<typeof parseImport> | null>(null);

  const readFile = async (file: File | undefined) => {
    if (!file) return;
    setText(await file.text());
    setPreview(null);
    importer.reset();
  };
  const result = importer.data;
  return (
    <section className="panel" aria-labelledby="import-title">
      <h2 id="import-title">Import provider keys</h2>
      <TextArea
        label="JSON array or dotenv lines"
        spellCheck={false}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setPreview(null);
          importer.reset();
        }}
        hint='e.g. [{"secret":"sk-…","label":"team","tier":"paid"}] or OPENAI_API_KEY=sk-…'
      />
      <div className="field">
        <label htmlFor="import-file">Or choose a file (.json or .env)</label>
        <input id="import-file" type="file" accept=".json,.env,.txt,application/json,text/plain" onChange={(e) => readFile(e.target.files?.[0])} />
      </div>
      <div className="actions">
        <button type="button" className="secondary" onClick={() => setPreview(parseImport(text, services))}>
          Preview
        </button>
        {preview && 'body' in preview && !result && (
          <button type="button" disabled={importer.isPending} onClick={() => importer.mutate(preview.body)}>
            Import {preview.rows.length} {preview.rows.length === 1 ? 'entry' : 'entries'}
          </button>
        )}
        <button type="button" className="secondary" onClick={onDone}>
          Close
        </button>
      </div>
      {preview && 'error' in preview && (
        <p role="alert" className="error">
          {preview.error}
        </p>
      )}
      {preview && 'rows' in preview && !result && (
        <table aria-label="Import preview">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Label</th>
              <th scope="col">Service</th>
              <th scope="col">Key</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((r, i) => (
              <tr key={i}>
                <td>{i + 1}</td>
                <td>{r.label}</td>
                <td>{r.service}</td>
                <td className="mono">{r.hint}</td>
                <td className={r.problem ? 'error' : ''}>{r.problem ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorMessage error={importer.error} />
      {result && (
        <>
          <p role="status">
            {result.created} added, {result.failed} failed.
          </p>
          <table aria-label="Import results">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Label</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {result.results.map((r) => (
                <tr key={r.index}>
                  <td>{r.line ? `line ${r.line}` : r.index + 1}</td>
                  <td>{r.label ?? '—'}</td>
                  <td className={r.ok ? 'ok' : 'error'}>{r.ok ? `Added (${r.service})` : r.error?.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
