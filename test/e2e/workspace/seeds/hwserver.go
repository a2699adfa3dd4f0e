// Hello World server in Go (pebbe/zmq4).
package main

import (
	"fmt"
	"time"

	zmq "github.com/pebbe/zmq4"
)

const port = 5555

func main() {
	responder, _ := zmq.NewSocket(zmq.REP)
	defer responder.Close()
	responder.Bind(fmt.Sprintf("tcp://*:%d", port))

	publisher, _ := zmq.NewSocket(zmq.PUB)
	publisher.Bind(`tcp://*:5563`)

	for {
		msg, _ := responder.Recv(0)
		fmt.Println("Received ", msg)
		time.Sleep(time.Second)
		responder.Send("World", 0)
	}
}
