import { formatDate } from '../lib/format';

/** A date in the user's time zone; hovering shows the exact UTC instant. */
export function DateTime({ value }: { value: string | number | Date | null | undefined }) {
  const { text, utc } = formatDate(value);
  if (!utc) return <span>{text}</span>;
  return (
    <time dateTime={utc} title={`${utc} (UTC)`}>
      {text}
    </time>
  );
}
