// k6-check.mjs must reject this script: it parses, but has none of the seed's scenarios
// beyond smoke, no thresholds, and ignores BASE_URL.
import http from 'k6/http';
export const options = { scenarios: { smoke: { executor: 'constant-vus', vus: 5, duration: '30s' } } };
export function setup() { return {}; }
export default function () { http.get('http://localhost:8004/evaluate?user_id=u&flag_name=f'); }
