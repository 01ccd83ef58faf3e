from services.order.app import NAME, build
from shared.runtime import main

if __name__ == "__main__":
    main(NAME, build)
