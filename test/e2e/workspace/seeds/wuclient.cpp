// Weather update client in C++ (cppzmq).
#include <zmq.hpp>
#include <iostream>
#include <string>

int main()
{
    zmq::context_t context(1);
    zmq::socket_t subscriber(context, zmq::socket_type::sub);
    const std::string port = "5556";
    subscriber.connect("tcp://localhost:" + port);
    subscriber.set(zmq::sockopt::subscribe, "10001 ");

    zmq::socket_t sync(context, ZMQ_REQ);
    sync.connect("tcp://localhost:5562");
    return 0;
}
