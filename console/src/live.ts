// One WatchEvents stream per signed-in tab drives every view: `version` moves when events the
// caller may see arrive, and views reload what they show. It moves at most once per SETTLE_MS
// (a burst of events is one reload), and not for log lines (an agent writes them as fast as it
// likes; the log view pages on demand): an agent cannot make every open console flood the API.
// A dropped stream (a restart, the network) resumes from the last event id after a growing pause.
import { useEffect, useState } from "preact/hooks";
import type { Api } from "./api";
import { EventKind, type Event as PlatformEvent } from "./gen/corral/v1/orchestrator_pb";

// Events kept for the platform page's "who did what" (log lines left out).
const RECENT_EVENTS = 50;
const SETTLE_MS = 300;

export interface Live {
  version: number;
  events: PlatformEvent[];
}

export function useLive(api: Api): Live {
  const [live, setLive] = useState<Live>({ version: 0, events: [] });
  useEffect(() => {
    const stop = new AbortController();
    let after = 0n;
    let arrived: PlatformEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const batch = arrived;
      arrived = [];
      setLive(({ version, events }) => ({ version: version + 1, events: [...batch.reverse(), ...events].slice(0, RECENT_EVENTS) }));
    };
    (async () => {
      for (let attempt = 0; !stop.signal.aborted; attempt++) {
        try {
          for await (const event of api.watchEvents({ afterEventId: after, heartbeatSeconds: 15 }, { signal: stop.signal })) {
            attempt = 0;
            if (event.object.case === "heartbeat") continue;
            after = event.id;
            if (event.kind === EventKind.LOG) continue;
            arrived.push(event);
            timer ??= setTimeout(flush, SETTLE_MS);
          }
        } catch {
          // The stream ended: resume from the last id after a pause.
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 15_000)));
      }
    })();
    return () => { stop.abort(); clearTimeout(timer); };
  }, [api]);
  return live;
}
