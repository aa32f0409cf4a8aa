/**
 * The read-only dashboard (docs/api.md section 18): sign-in, then GET /dashboard for the chosen
 * period, reporting currency and (admins, auditors) user, rendered by view.ts. Errors are shown
 * where they happen: a failed sign-in on the form, an ended session back on the form, a 429 or
 * 503 with the wait the server asked for.
 */
import { Api, ApiError, SessionEnded } from './api';
import type { Chart } from './charts';
import { byId, h, replace } from './dom';
import { seconds } from './format';
import { type Currency, type Dashboard, type Page, RANGES, type Range, type User } from './types';
import { renderDashboard } from './view';

const api = new Api();

const el = {
  signin: byId('signin'),
  signinForm: byId<HTMLFormElement>('signin-form'),
  signinNote: byId('signin-note'),
  signinError: byId('signin-error'),
  email: byId<HTMLInputElement>('email'),
  password: byId<HTMLInputElement>('password'),
  signinButton: byId<HTMLButtonElement>('signin-button'),
  account: byId('account'),
  who: byId('who'),
  signout: byId<HTMLButtonElement>('signout'),
  dashboard: byId('dashboard'),
  title: byId('dashboard-title'),
  filters: byId<HTMLFormElement>('filters'),
  range: byId<HTMLSelectElement>('range'),
  currency: byId<HTMLSelectElement>('currency'),
  userFilter: byId('user-filter'),
  user: byId<HTMLSelectElement>('user'),
  status: byId('status'),
  content: byId('content'),
};

let charts: Chart[] = [];
/** Bumped by every load: an answer to an older one is dropped. */
let generation = 0;

function setStatus(message: string, retry?: () => void): void {
  replace(
    el.status,
    message ? h('span', {}, message) : null,
    retry ? h('button', { attrs: { type: 'button' }, on: { click: retry } }, 'Try again') : null,
  );
  el.status.className = message && retry ? 'status status-error' : 'status';
}

function clearContent(): void {
  charts.forEach((c) => c.destroy());
  charts = [];
  replace(el.content);
}

function showSignIn(note = ''): void {
  generation++;
  clearContent();
  setStatus('');
  el.dashboard.hidden = true;
  el.account.hidden = true;
  el.signin.hidden = false;
  el.signinNote.textContent = note;
  el.signinError.textContent = '';
  el.password.value = '';
  (el.email.value ? el.password : el.email).focus();
}

function option(value: string, label: string): HTMLOptionElement {
  return h('option', { attrs: { value } }, label);
}

/** Makes sure the picker holds `code` (before GET /currencies answers, it holds only that). */
function selectCurrency(code: string): void {
  if (![...el.currency.options].some((o) => o.value === code))
    el.currency.append(option(code, code));
  el.currency.value = code;
}

async function loadCurrencies(): Promise<void> {
  const { data: list } = await api.get<{ data: Currency[] }>('/currencies');
  const current = el.currency.value;
  replace(el.currency, ...list.map((c) => option(c.code, `${c.code} – ${c.name}`)));
  // Before the first dashboard answer names the default currency, nothing is selected.
  if (current) selectCurrency(current);
  else el.currency.selectedIndex = -1;
}

/** Admins and auditors: every user, by name, for the user picker (the first 1,000). */
async function loadUsers(): Promise<void> {
  const users: User[] = [];
  for (let page = 1; page <= 10; page++) {
    const res = await api.get<Page<User>>('/users', { page, limit: 100 });
    users.push(...res.data);
    if (page >= res.meta.totalPages) break;
  }
  users.sort((a, b) => a.name.localeCompare(b.name));
  const current = el.user.value;
  replace(
    el.user,
    option('', 'Whole organisation'),
    ...users.map((u) => option(u.id, `${u.name} (${u.email})`)),
  );
  el.user.value = current;
}

async function load(): Promise<void> {
  const mine = ++generation;
  setStatus('Loading…');
  el.content.setAttribute('aria-busy', 'true');
  const range = el.range.value as Range;
  try {
    const d = await api.get<Dashboard>('/dashboard', {
      range,
      currency: el.currency.value || undefined,
      userId: el.user.value || undefined,
    });
    if (mine !== generation) return;
    performance.mark('web:dashboard-answer');
    clearContent();
    selectCurrency(d.summary.currency);
    const label = RANGES.find(([value]) => value === range)?.[1] ?? range;
    const rendered = renderDashboard(d, label, range === 'all');
    replace(el.content, ...rendered.sections);
    charts = rendered.drawCharts();
    setStatus('');
  } catch (error) {
    if (mine !== generation) return;
    clearContent();
    fail(error, () => void load());
  } finally {
    if (mine === generation) el.content.removeAttribute('aria-busy');
  }
}

/** Says what went wrong, in words, with the server's wait where it gave one. */
function fail(error: unknown, retry: () => void): void {
  if (error instanceof SessionEnded) return showSignIn(error.message);
  if (!(error instanceof ApiError)) {
    return setStatus('The server could not be reached. Check the connection and try again.', retry);
  }
  const wait =
    error.retryAfter === undefined ? '' : ` Wait ${seconds(error.retryAfter)}, then try again.`;
  if (error.status === 429)
    return setStatus(`Too many requests.${wait || ' Wait a moment, then try again.'}`, retry);
  if (error.status === 503) return setStatus(`The server is busy.${wait}`, retry);
  const missing = error.problem.missingRates;
  if (error.status === 422 && missing) {
    const first = missing
      .slice(0, 3)
      .map((m) => `${m.from} to ${m.to} on ${m.date}`)
      .join(', ');
    const more = missing.length > 3 ? ` and ${missing.length - 3} more` : '';
    return setStatus(
      `Figures in ${el.currency.value} need exchange rates that are missing: ${first}${more}. Pick another currency, or ask an admin to add the rates.`,
    );
  }
  const id = error.problem.requestId ? ` (request ${error.problem.requestId})` : '';
  setStatus(`The dashboard could not be loaded: ${error.message}${id}`, retry);
}

async function signIn(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  el.signinError.textContent = '';
  el.signinNote.textContent = '';
  el.signinButton.disabled = true;
  try {
    const user = await api.login(el.email.value.trim(), el.password.value);
    el.password.value = '';
    await showDashboard(user);
  } catch (error) {
    el.signinError.textContent = signInProblem(error);
    el.password.value = '';
    el.password.focus();
  } finally {
    el.signinButton.disabled = false;
  }
}

function signInProblem(error: unknown): string {
  if (!(error instanceof ApiError)) return 'The server could not be reached. Try again.';
  if (error.status === 401) return 'The email or password is wrong.';
  if (error.status === 429) {
    const wait = error.retryAfter === undefined ? 'a minute' : seconds(error.retryAfter);
    return `Too many sign-in attempts. Try again in ${wait}.`;
  }
  if (error.status === 400 && error.problem.errors?.length) {
    return error.problem.errors.map((e) => e.message).join('. ');
  }
  return `Sign-in failed: ${error.message}`;
}

async function showDashboard(user: User): Promise<void> {
  el.signin.hidden = true;
  el.dashboard.hidden = false;
  el.account.hidden = false;
  el.who.textContent = `${user.name} (${user.role})`;
  el.range.value = 'all';
  replace(el.currency);
  const organisation = user.role === 'admin' || user.role === 'auditor';
  el.userFilter.hidden = !organisation;
  replace(el.user, option('', 'Whole organisation'));
  el.title.focus();
  performance.mark('web:dashboard-request');
  const side = [loadCurrencies(), ...(organisation ? [loadUsers()] : [])].map((p) =>
    p.catch((error: unknown) => {
      if (error instanceof SessionEnded) showSignIn(error.message);
      // The pickers keep what they have; the dashboard itself reports its own errors.
    }),
  );
  // Busy until the pickers are filled (the currencies, the users): until then a choice is not possible.
  el.filters.setAttribute('aria-busy', 'true');
  await Promise.all([
    load(),
    Promise.all(side).then(() => el.filters.removeAttribute('aria-busy')),
  ]);
}

async function signOut(): Promise<void> {
  el.signout.disabled = true;
  await api.logout();
  el.signout.disabled = false;
  showSignIn('You have signed out.');
}

function start(): void {
  replace(el.range, ...RANGES.map(([value, label]) => option(value, label)));
  el.signinForm.addEventListener('submit', (e) => void signIn(e));
  el.signout.addEventListener('click', () => void signOut());
  el.filters.addEventListener('change', () => void load());
  el.filters.addEventListener('submit', (e) => e.preventDefault());
  // Neither token outlives the page, so leaving it revokes the session as signing out does.
  window.addEventListener('pagehide', () => api.logoutOnLeave());
  showSignIn();
}

start();
