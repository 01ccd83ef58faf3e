from services.logistics.app import build
from shared.runtime import run_service

if __name__ == "__main__":
    run_service(build)
