"""Issue 13 (Low): the gateway's `/metrics` was public on its own port 8000. It is now served only on a private
listener (METRICS_SERVER_ADDRESS, LAPOR_GATEWAY_METRICS_PORT), which Prometheus scrapes and the internet cannot."""
import requests


def test_the_public_port_serves_no_metrics_and_the_private_one_does(start_gateway):
    url, gateway = start_gateway()
    assert requests.get(f"{url}/api/v1/stats", timeout=10).status_code == 200  # something worth counting

    public = requests.get(f"{url}/metrics", timeout=10)
    assert public.status_code == 404
    assert "lapor_entrypoint" not in public.text

    private = requests.get(f"http://{gateway.config['METRICS_SERVER_ADDRESS']}/metrics", timeout=10)
    assert private.status_code == 200
    assert 'service="gateway"' in private.text and "lapor_entrypoint_calls_total" in private.text
    # the probes stay on the public port, where the load balancer asks them
    assert requests.get(f"{url}/health/live", timeout=10).status_code == 200


def test_nothing_but_metrics_is_served_on_the_private_port(start_gateway):
    _, gateway = start_gateway()
    private = f"http://{gateway.config['METRICS_SERVER_ADDRESS']}"
    assert requests.get(f"{private}/api/v1/stats", timeout=10).status_code == 404
    assert requests.get(f"{private}/", timeout=10).status_code == 404
