"""The documentation's "Monitor and Acknowledge" example with `AsyncGrantex`: the same
code, with `async with` and `await`, and the acknowledgements sent concurrently."""

import asyncio

from grantex import AsyncGrantex


async def main() -> None:
    async with AsyncGrantex(api_key="gx_live_...") as client:
        # Run detection
        detection = await client.anomalies.detect()

        if detection.total > 0:
            print(f"Found {detection.total} anomalies!")

            for anomaly in detection.anomalies:
                print(f"\n[{anomaly.severity.upper()}] {anomaly.type}")
                print(f"  {anomaly.description}")

                if anomaly.agent_id:
                    print(f"  Agent: {anomaly.agent_id}")
                if anomaly.principal_id:
                    print(f"  Principal: {anomaly.principal_id}")

            # Acknowledge after review, all at once
            await asyncio.gather(*(client.anomalies.acknowledge(a.id) for a in detection.anomalies))
            print(f"\nAcknowledged {detection.total} anomalies")
        else:
            print("No anomalies detected")


if __name__ == "__main__":
    asyncio.run(main())
