import '../overview.css';
import { useSession } from '../../../lib/session';
import { AdminOverview } from './AdminOverview';
import { DeveloperHome } from './DeveloperHome';

/** The console's home: everyone's usage for admins and analysts (wallet health for admins), one's own for developers. */
export default function OverviewPage() {
  const role = useSession().data!.user.role;
  if (role === 'developer') return <DeveloperHome />;
  return <AdminOverview withWallet={role === 'admin'} />;
}
