import { useState } from 'react';
import { QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from 'react-router';
import { TimeRangeProvider } from '../lib/time-range';
import { queryClient } from './query-client';
import { buildRouter } from './router';

export function App() {
  const [router] = useState(buildRouter);
  return (
    <QueryClientProvider client={queryClient}>
      <TimeRangeProvider>
        <RouterProvider router={router} />
      </TimeRangeProvider>
    </QueryClientProvider>
  );
}
