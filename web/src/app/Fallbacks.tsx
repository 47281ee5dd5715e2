import { Link } from 'react-router';
import { Page } from '../components/Page';

export function Forbidden() {
  return (
    <Page title="Not available to your role">
      <p role="alert">Your role may not use this page; the API would refuse it too.</p>
      <Link to="/">Back to the home page</Link>
    </Page>
  );
}

export function NotFound() {
  return (
    <Page title="Page not found">
      <p>There is no console page at this address.</p>
      <Link to="/">Back to the home page</Link>
    </Page>
  );
}
