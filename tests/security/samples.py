"""What the security tests share: a report as tracking gives it, a national admin as the gateway knows one."""
from datetime import datetime, timezone

SECRET = "unit-test-secret"
TRACKING_ID = "10000004"
ADMIN = {"role": "national_admin", "username": "demo.admin", "name": "Demo", "agency_code": None,
         "agency_name": None, "scope": None}
REPORT = {"tracking_id": TRACKING_ID, "type": "complaint", "title": "Paslon bagi-bagi uang", "status": "received",
          "body": "Saat pilkada paslon nomor 2 membagikan uang di kampung kami.", "category": None,
          "channel": "web", "created_at": datetime(2026, 11, 25, 7, 30, tzinfo=timezone.utc).isoformat(),
          "updated_at": None, "location": {"region_code": "18.72", "region_name": "Kota Metro", "address": None},
          "agency": None, "due_at": None, "overdue": False, "support_count": 0, "anonymous": False,
          "confidential": False, "version": 1, "reporter": None}
