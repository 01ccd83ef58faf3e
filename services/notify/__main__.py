from services.notify.app import NAME, build
from shared.service_main import main

if __name__ == "__main__":
    main(NAME, build)
