import { SelectField, TextField } from '../../../components/Field';
import type { UsageFilters } from '../api/usage';

const GROUPS = [
  { value: 'user', label: 'User' },
  { value: 'key', label: 'Gateway key' },
  { value: 'service', label: 'Service' },
  { value: 'model', label: 'Model' },
  { value: 'status', label: 'Status' },
  { value: 'providerKey', label: 'Provider key' },
  { value: 'team', label: 'Team' },
];
const STATUSES = ['', '2xx', '3xx', '4xx', '429', '5xx'];

/** The explorer's filters; every change goes to the URL, so a view can be shared and reloaded. */
export function UsageFiltersForm({ filters, onChange }: { filters: UsageFilters; onChange(next: Partial<UsageFilters>): void }) {
  return (
    <div className="toolbar" role="search" aria-label="Filter usage">
      <TextField label="From (UTC day)" type="date" value={filters.from} max={filters.to} onChange={(e) => e.target.value && onChange({ from: e.target.value })} />
      <TextField label="To (UTC day)" type="date" value={filters.to} min={filters.from} onChange={(e) => e.target.value && onChange({ to: e.target.value })} />
      <SelectField
        label="Resolution"
        value={filters.bucket}
        onChange={(e) => onChange({ bucket: e.target.value as UsageFilters['bucket'] })}
        options={[
          { value: 'day', label: 'Daily' },
          { value: 'hour', label: 'Hourly (up to 31 days)' },
        ]}
      />
      <SelectField label="Group by" value={filters.groupBy} onChange={(e) => onChange({ groupBy: e.target.value as UsageFilters['groupBy'] })} options={GROUPS} />
      <TextField label="Service" value={filters.service ?? ''} placeholder="any" onChange={(e) => onChange({ service: e.target.value || undefined })} />
      <TextField label="Model" value={filters.model ?? ''} placeholder="any" onChange={(e) => onChange({ model: e.target.value || undefined })} />
      <SelectField
        label="Status"
        value={filters.status ?? ''}
        onChange={(e) => onChange({ status: (e.target.value || undefined) as UsageFilters['status'] })}
        options={STATUSES}
      />
    </div>
  );
}
