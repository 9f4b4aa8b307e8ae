"""Checks an usher access token the way an app would, with PyJWT and cryptography (not the
library that signed it): fetch the key set, pick the key the token names, verify the EdDSA
signature, the issuer and the expiry. Prints the claims as JSON, or `refused: <reason>` and
exits 1."""

import argparse
import json
import sys

import jwt


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jwks", required=True, help="the key set's URL")
    parser.add_argument("--issuer", required=True)
    parser.add_argument("token")
    args = parser.parse_args()
    try:
        key = jwt.PyJWKClient(args.jwks).get_signing_key_from_jwt(args.token)
        claims = jwt.decode(
            args.token,
            key.key,
            algorithms=["EdDSA"],
            issuer=args.issuer,
            options={"require": ["exp", "iat", "iss", "sub"]},
        )
    except jwt.PyJWTError as err:
        print(f"refused: {type(err).__name__}: {err}")
        return 1
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
