"""The TOTP code for an otpauth:// URI, computed by pyotp (independently of
authgate's own implementation): the current step's, or the one `steps`
steps later. Usage: code.py <otpauth-uri> [steps]"""
import sys
import time

import pyotp

totp = pyotp.parse_uri(sys.argv[1])
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 0
print(totp.at(int(time.time()) + totp.interval * steps))
