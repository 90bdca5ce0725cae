/**
 * The entity registry: a person or brand and the accounts it claims. Each
 * change is one atomic script (an account belongs to at most one entity), it
 * marks the entity and the accounts dirty, and they are scored at once, so
 * the entity endpoint, the leaderboards and the live channels move together.
 * Accounts keep their own state throughout: disconnecting gives it back.
 */
import type { EntityKind } from '../../shared/api.js';
import { AppError, errors } from '../errors.js';
import type { Keys } from '../infra/keys.js';
import type { RedisClient } from '../infra/redis.js';
import { Script } from '../infra/script.js';
import type { ScoreChange, ScoreStore } from './store.js';

export const ENTITY_ID_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
/** A network, ':', and any handle an event may carry (1–100 characters, newlines included). */
export const ACCOUNT_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,31}:[\\s\\S]{1,100}$';

/**
 * KEYS = [entity, entity accounts, owner, entities, dirty]; ARGV = [id, mode,
 * name, kind, account...]. mode: `put` (accounts replace the list when
 * `replace` is 1), `connect`, `disconnect`.
 */
const CHANGE = new Script(`
local id, mode = ARGV[1], ARGV[2]
local exists = redis.call('EXISTS', KEYS[1]) == 1
if mode ~= 'put' and not exists then return redis.error_reply('NOENTITY') end
local wanted = {}
for i = 6, #ARGV do wanted[#wanted + 1] = ARGV[i] end
if mode == 'disconnect' then
  local a = wanted[1]
  if redis.call('SISMEMBER', KEYS[2], a) == 0 then return redis.error_reply('NOTCONNECTED') end
  redis.call('SREM', KEYS[2], a)
  redis.call('HDEL', KEYS[3], a)
  redis.call('SADD', KEYS[5], id, a)
  return 'OK'
end
for _, a in ipairs(wanted) do
  local o = redis.call('HGET', KEYS[3], a)
  if o and o ~= id then return redis.error_reply('CLAIMED ' .. a .. ' ' .. o) end
end
if mode == 'put' then
  redis.call('HSET', KEYS[1], 'name', ARGV[3], 'kind', ARGV[4])
  redis.call('SADD', KEYS[4], id)
  if ARGV[5] == '1' then
    local keep = {}
    for _, a in ipairs(wanted) do keep[a] = true end
    for _, a in ipairs(redis.call('SMEMBERS', KEYS[2])) do
      if not keep[a] then
        redis.call('SREM', KEYS[2], a)
        redis.call('HDEL', KEYS[3], a)
        redis.call('SADD', KEYS[5], a)
      end
    end
  end
end
for _, a in ipairs(wanted) do
  redis.call('SADD', KEYS[2], a)
  redis.call('HSET', KEYS[3], a, id)
  redis.call('SADD', KEYS[5], a)
end
redis.call('SADD', KEYS[5], id)
return exists and 'UPDATED' or 'CREATED'
`);

export interface EntityChange {
  created: boolean;
  changes: ScoreChange[];
}

/** `publish` receives the score changes each registry change makes (for the live channels). */
export function createEntities(redis: RedisClient, keys: Keys, store: ScoreStore, publish: (changes: ScoreChange[]) => void = () => {}) {
  async function change(id: string, mode: 'put' | 'connect' | 'disconnect', name: string, kind: string, replace: boolean, accounts: string[]): Promise<EntityChange> {
    let result: string;
    try {
      result = (await CHANGE.run(
        redis,
        [keys.entity(id), keys.entityAccounts(id), keys.owner, keys.entities, keys.dirty],
        [id, mode, name, kind, replace ? '1' : '0', ...accounts],
      )) as string;
    } catch (err) {
      const msg = err instanceof Error ? err.message : '';
      const claimed = /CLAIMED (\S+) (\S+)/.exec(msg);
      if (claimed) throw new AppError('account_claimed', 409, `account "${claimed[1]}" already belongs to entity "${claimed[2]}"`, { account: claimed[1], entity: claimed[2] });
      if (msg.includes('NOENTITY')) throw errors.notFound('entity', id);
      if (msg.includes('NOTCONNECTED')) throw new AppError('account_not_connected', 404, `account "${accounts[0]}" is not connected to entity "${id}"`);
      throw err;
    }
    const changes = await store.rescoreDirty();
    if (changes.length > 0) publish(changes);
    return { created: result === 'CREATED', changes };
  }

  return {
    put: (id: string, body: { name: string; kind: EntityKind; accounts?: string[] }) =>
      change(id, 'put', body.name, body.kind, body.accounts !== undefined, [...new Set(body.accounts ?? [])]),
    connect: (id: string, account: string) => change(id, 'connect', '', '', false, [account]),
    disconnect: (id: string, account: string) => change(id, 'disconnect', '', '', false, [account]),
  };
}

export type Entities = ReturnType<typeof createEntities>;
