// k6-check.mjs must reject this script: it does not parse.
import http from 'k6/http';
export const options = { scenarios: { smoke: { executor: 'constant-vus', vus: 5, duration: '30s' } };
export default function () { http.get(`${__ENV.BASE_URL}/evaluate/evaluate?user_id=u&flag_name=f`); }
