import { Link } from 'react-router';
import { Page } from '../components/Page';
import { useSession } from '../lib/session';
import { featureRoutes } from './routes';

/** The home page until a feature provides one: the pages this role may use. */
export default function HomeLinks() {
  const role = useSession().data?.user.role;
  const pages = featureRoutes.filter((r) => r.nav && role && r.roles.includes(role)).sort((a, b) => a.nav!.order - b.nav!.order);
  return (
    <Page title="Keywallet console">
      <ul className="links">
        {pages.map((r) => (
          <li key={r.path}>
            <Link to={`/${r.path}`}>{r.title}</Link>
          </li>
        ))}
      </ul>
    </Page>
  );
}
