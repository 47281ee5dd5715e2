import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';

/** The one time range every chart and table of a page reads (Grafana's convention): a preset ending now. */
export const TIME_PRESETS = { '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days', '90d': 'Last 90 days' } as const;
export type TimePreset = keyof typeof TIME_PRESETS;

const PRESET_MS: Record<TimePreset, number> = { '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000, '90d': 90 * 86_400_000 };

export interface TimeRange {
  preset: TimePreset;
  from: Date;
  to: Date;
  setPreset(preset: TimePreset): void;
}

const STORAGE_KEY = 'keywallet.timeRange';
const Context = createContext<TimeRange | null>(null);

function rangeFor(preset: TimePreset): { from: Date; to: Date } {
  // to the next whole minute, so query keys stay stable across renders
  const to = new Date(Math.ceil(Date.now() / 60_000) * 60_000);
  return { from: new Date(to.getTime() - PRESET_MS[preset]), to };
}

export function TimeRangeProvider({ children }: { children: ReactNode }) {
  const [preset, setPresetState] = useState<TimePreset>(() => {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    return stored && stored in TIME_PRESETS ? (stored as TimePreset) : '7d';
  });
  const [bounds, setBounds] = useState(() => rangeFor(preset));
  const value = useMemo<TimeRange>(
    () => ({
      preset,
      ...bounds,
      setPreset(next) {
        sessionStorage.setItem(STORAGE_KEY, next);
        setPresetState(next);
        setBounds(rangeFor(next));
      },
    }),
    [preset, bounds],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useTimeRange(): TimeRange {
  const value = useContext(Context);
  if (!value) throw new Error('useTimeRange outside TimeRangeProvider');
  return value;
}
